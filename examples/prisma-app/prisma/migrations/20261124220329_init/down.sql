-- DropTable
DROP TABLE "public"."User";

