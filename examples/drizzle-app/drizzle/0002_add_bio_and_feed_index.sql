ALTER TABLE "users" ADD COLUMN "bio" text;--> statement-breakpoint
CREATE INDEX "posts_published_created_at_idx" ON "posts" USING btree ("is_published","created_at");