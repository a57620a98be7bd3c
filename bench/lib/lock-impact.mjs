export async function runLockImpact() { throw new Error("not yet"); }
