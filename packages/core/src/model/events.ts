/** Progress of a run, as a closed union of typed events; the core never prints, renderers listen. */
export type MigrateEvent =
  | { type: "project-start"; project: string; stack: string; database?: string }
  | { type: "notice"; project?: string; level: "info" | "warning"; message: string }
  | { type: "lock-waiting"; project: string; holder?: string }
  | { type: "lock-acquired"; project: string; waitedMs: number }
  | {
      type: "migration-start";
      project: string;
      id: string;
      index: number;
      total: number;
      transactional: boolean;
      direction: "up" | "down";
    }
  | {
      type: "retry";
      project: string;
      id: string;
      /** The attempt about to start, from 2. */
      attempt: number;
      maxAttempts: number;
      delayMs: number;
      reason: string;
    }
  | { type: "statement-end"; project: string; id: string; index: number; line: number; durationMs: number }
  | {
      type: "migration-end";
      project: string;
      id: string;
      outcome: "applied" | "failed" | "rolled-back";
      durationMs: number;
      direction: "up" | "down";
    }
  | { type: "project-end"; project: string; outcome: string };

/** A listener of {@link MigrateEvent}s. */
export type EventSink = (event: MigrateEvent) => void;
