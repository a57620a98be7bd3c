// Seeds a few users and posts through the application's pooled URL (DATABASE_URL). Safe to run twice.
import { connectApp } from "../src/db/client.js";
import { posts, users } from "../src/db/schema.js";

const { db, close } = connectApp();
try {
  const authors = await db
    .insert(users)
    .values([
      { email: "ada@example.com", name: "Ada", role: "author", bio: "Writes about engines." },
      { email: "grace@example.com", name: "Grace", role: "admin" },
      { email: "linus@example.com", name: "Linus" },
    ])
    .onConflictDoNothing({ target: users.email })
    .returning({ id: users.id, email: users.email });
  const ada = authors.find((author) => author.email === "ada@example.com");
  if (ada) {
    await db.insert(posts).values([
      { authorId: ada.id, title: "Notes on the analytical engine", body: "…", isPublished: true },
      { authorId: ada.id, title: "A draft", isPublished: false },
    ]);
  }
  console.log(`seeded ${authors.length} users`);
} finally {
  await close();
}
