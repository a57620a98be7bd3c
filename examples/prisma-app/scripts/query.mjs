// Lists the published posts with their authors, through Prisma Client on DATABASE_URL.
import { createClient } from "./client.mjs";

const prisma = createClient();
try {
  const posts = await prisma.post.findMany({
    where: { published: true },
    include: { author: { select: { name: true, role: true } } },
    orderBy: { id: "asc" },
  });
  for (const post of posts) console.log(`${post.title} by ${post.author.name} (${post.author.role})`);
} finally {
  await prisma.$disconnect();
}
