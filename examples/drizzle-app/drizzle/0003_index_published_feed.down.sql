-- Undoes 0003_index_published_feed (read by migrate down; drizzle-kit never reads *.down.sql).
DROP INDEX CONCURRENTLY IF EXISTS "posts_published_created_at_idx";
