-- Undoes 0002_add_bio_and_feed_index (read by migrate down; drizzle-kit never reads *.down.sql).
DROP INDEX "posts_published_created_at_idx";
ALTER TABLE "users" DROP COLUMN "bio";
