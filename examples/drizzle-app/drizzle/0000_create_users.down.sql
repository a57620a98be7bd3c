-- Undoes 0000_create_users.
DROP TABLE "users";
DROP TYPE "public"."role";
