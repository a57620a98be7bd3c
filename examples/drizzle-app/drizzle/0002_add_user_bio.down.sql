-- Undoes 0002_add_user_bio.
ALTER TABLE "users" DROP COLUMN "bio";
