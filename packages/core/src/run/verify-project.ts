import { randomBytes } from "node:crypto";
import { connect, quoteIdent } from "../db/connect.js";
import { describeCatalogDifference, diffCatalogSnapshots, readCatalogSnapshot, type CatalogSnapshot } from "../catalog/catalog-snapshot.js";
import { MigrateError } from "../model/errors.js";
import type { ProjectReport, VerifyStepReport } from "../model/report.js";
import { redact, redactUrl } from "../policy/redact.js";
import { isIrreversibleDown } from "../rollback/generate-down.js";
import { downProject, startReport, upProject, type ProjectCommandOptions, type ProjectTarget } from "./project-run.js";


function throwawayUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function failureOf(report: ProjectReport): string | undefined {
  if (report.error) return report.error.message;
  const failed = report.migrations.find((migration) => migration.outcome === "failed");
  if (!failed?.error) return undefined;
  const where = failed.error.file ? ` at ${failed.error.file}${failed.error.line ? `:${failed.error.line}` : ""}` : "";
  return `${failed.id}: ${failed.error.message}${where}`;
}

/**
 * `verify`: on a throwaway database (created on the target's server and dropped after), applies every migration, then
 * from the newest down: runs its down and compares the catalog with the schema before it, runs its up again and
 * compares with the schema after it. The comparison is of the catalog, not of SQL text. The target is not touched.
 */
export async function verifyProject(target: ProjectTarget, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  const started = performance.now();
  const name = `polymigrate_verify_${randomBytes(5).toString("hex")}`;
  const url = throwawayUrl(target.url.url, name);
  const scratch: ProjectTarget = { ...target, url: { ...target.url, url, display: redactUrl(url) } };
  const steps: VerifyStepReport[] = [];
  const admin = await connect(target.url.url, { source: target.url.source, applicationName: "polymigrate verify" });
  const report: ProjectReport = { ...startReport(target), verification: steps, throwawayDatabase: name };
  try {
    try {
      await admin.client.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } catch (cause) {
      throw new MigrateError(
        "CONNECTION_FAILED",
        `Could not create the throwaway database "${name}" on the server of "${target.url.source}": ${redact((cause as Error).message)}. "migrate verify" needs a role with CREATEDB on that server; point it at a development server.`,
        { cause },
      );
    }
    const migrations = await target.adapter.readMigrations();
    const session = await connect(url, { applicationName: "polymigrate verify" });
    const snapshot = () => readCatalogSnapshot(session.client);
    try {
      const states: CatalogSnapshot[] = [await snapshot()];
      for (const migration of migrations) {
        const up = await upProject(scratch, { ...options, to: migration.id });
        const failure = failureOf(up);
        if (failure) {
          steps.push({ id: migration.id, name: migration.name, result: "failed", downDifferences: [], upDifferences: [], message: `up failed: ${failure}` });
          report.outcome = "failed";
          return report;
        }
        states.push(await snapshot());
      }
      for (let index = migrations.length - 1; index >= 0; index--) {
        const migration = migrations[index]!;
        const notReversible =
          !migration.down && !target.adapter.native
            ? "no down migration"
            : migration.down && isIrreversibleDown(migration.down.sql)
              ? "its down is marked irreversible"
              : undefined;
        if (notReversible) {
          steps.push({
            id: migration.id,
            name: migration.name,
            result: "not-reversible",
            downDifferences: [],
            upDifferences: [],
            message: `${notReversible}: this one and the ones before it cannot be checked`,
          });
          break;
        }
        const step: VerifyStepReport = { id: migration.id, name: migration.name, result: "verified", downDifferences: [], upDifferences: [] };
        steps.push(step);
        const down = await downProject(scratch, { steps: 1 }, options);
        const downFailure = failureOf(down);
        if (downFailure) {
          Object.assign(step, { result: "failed", message: `down failed: ${downFailure}` });
          break;
        }
        step.downDifferences = diffCatalogSnapshots(states[index]!, await snapshot()).map(describeCatalogDifference);
        const again = await upProject(scratch, { ...options, to: migration.id });
        const upFailure = failureOf(again);
        if (upFailure) {
          // A down that left something behind usually makes the next up fail on it: the differences say why.
          Object.assign(step, { result: step.downDifferences.length > 0 ? "mismatch" : "failed", message: `up after down failed: ${upFailure}` });
          break;
        }
        step.upDifferences = diffCatalogSnapshots(states[index + 1]!, await snapshot()).map(describeCatalogDifference);
        if (step.downDifferences.length > 0 || step.upDifferences.length > 0) step.result = "mismatch";
        const back = await downProject(scratch, { steps: 1 }, options);
        const backFailure = failureOf(back);
        if (backFailure) {
          Object.assign(step, { result: "failed", message: `second down failed: ${backFailure}` });
          break;
        }
      }
    } finally {
      await session.close();
    }
    if (steps.some((step) => step.result === "mismatch" || step.result === "failed")) report.outcome = "failed";
  } catch (error) {
    report.outcome = "failed";
    report.error = { code: (error as MigrateError).code ?? "MIGRATION_FAILED", message: redact((error as Error).message) };
  } finally {
    await admin.client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {});
    await admin.close();
    report.durationMs = Math.round(performance.now() - started);
  }
  return report;
}
