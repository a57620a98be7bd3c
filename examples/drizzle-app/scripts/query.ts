// Reads the published feed through the application's pooled URL (DATABASE_URL), with Drizzle's relational queries.
import { connectApp } from "../src/db/client.js";

const { db, close } = connectApp();
try {
  const feed = await db.query.posts.findMany({
    where: (post, { eq }) => eq(post.isPublished, true),
    with: { author: { columns: { name: true } } },
    orderBy: (post, { desc }) => [desc(post.createdAt)],
  });
  for (const post of feed) console.log(`${post.title} — by ${post.author.name}`);
  console.log(`${feed.length} published post(s)`);
} finally {
  await close();
}
