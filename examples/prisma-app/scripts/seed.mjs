// Seeds two users and their posts; running it again changes nothing (upserts by the unique email).
import { createClient } from "./client.mjs";

const prisma = createClient();
try {
  const ada = await prisma.user.upsert({
    where: { email: "ada@example.com" },
    update: {},
    create: { email: "ada@example.com", name: "Ada", role: "ADMIN" },
  });
  const grace = await prisma.user.upsert({
    where: { email: "grace@example.com" },
    update: {},
    create: { email: "grace@example.com", name: "Grace" },
  });
  if ((await prisma.post.count()) === 0) {
    await prisma.post.createMany({
      data: [
        { title: "Notes on the Analytical Engine", published: true, authorId: ada.id },
        { title: "A draft", authorId: ada.id },
        { title: "Compilers for everyone", published: true, authorId: grace.id },
      ],
    });
  }
  console.log(`Seeded ${await prisma.user.count()} users and ${await prisma.post.count()} posts.`);
} finally {
  await prisma.$disconnect();
}
