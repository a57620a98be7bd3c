import { defineConfig } from "prisma/config";
import { defineDirectPrismaConfig } from "@polymigrate/prisma/config";

// Prisma's CLI connects through DIRECT_URL (never the pooled DATABASE_URL), on Prisma 6's WebAssembly schema engine:
// no native engine download is needed.
export default defineConfig(defineDirectPrismaConfig({ schema: "prisma/schema.prisma" }));
