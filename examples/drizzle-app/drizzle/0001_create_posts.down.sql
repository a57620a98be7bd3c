-- Undoes 0001_create_posts.
DROP TABLE "posts";
