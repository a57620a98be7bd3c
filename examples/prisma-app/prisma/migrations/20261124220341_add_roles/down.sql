-- AlterTable
ALTER TABLE "User" DROP COLUMN "createdAt",
DROP COLUMN "role";

-- DropEnum
DROP TYPE "Role";

