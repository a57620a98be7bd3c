export * from "./neon-api.js";
