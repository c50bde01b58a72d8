import cliProgress from 'cli-progress';
import type { Logger } from '../observe/logger.js';

/** Progress of an export: a bar on a TTY (records, rate, ETA), JSON log lines (pino, stderr) otherwise. */
export interface ExportProgress {
  start(total: number, done: number): void;
  update(done: number): void;
  stop(): void;
}

export const silentProgress: ExportProgress = { start: () => undefined, update: () => undefined, stop: () => undefined };

export function barProgress(): ExportProgress {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'export {bar} {percentage}% | {value}/{total} records | {rate} rec/s | ETA {eta_formatted}',
      etaBuffer: 50,
      fps: 5,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let t0 = Date.now();
  let base = 0;
  const rate = (done: number) => Math.round((done - base) / Math.max(0.001, (Date.now() - t0) / 1000));
  return {
    start(total, done) {
      t0 = Date.now();
      base = done;
      bar.start(Math.max(total, 1), done, { rate: 0 });
    },
    update(done) {
      bar.update(done, { rate: rate(done) });
    },
    stop() {
      bar.stop();
    },
  };
}

export function logProgress(log: Logger, everyMs = 5000): ExportProgress {
  let t0 = Date.now();
  let last = 0;
  let total = 0;
  let base = 0;
  const emit = (done: number, msg: string) => {
    const elapsed = (Date.now() - t0) / 1000;
    const rate = (done - base) / Math.max(0.001, elapsed);
    const eta = rate > 0 ? Math.round((total - done) / rate) : null;
    log.info({ records: done, total, rate: Math.round(rate), eta_seconds: eta }, msg);
  };
  let current = 0;
  return {
    start(t, done) {
      t0 = Date.now();
      last = t0;
      total = t;
      base = done;
      current = done;
      emit(done, 'export started');
    },
    update(done) {
      current = done;
      const now = Date.now();
      if (now - last >= everyMs) {
        last = now;
        emit(done, 'export progress');
      }
    },
    stop() {
      emit(current, 'export finished');
    },
  };
}

export function defaultProgress(log: Logger): ExportProgress {
  return process.stderr.isTTY ? barProgress() : logProgress(log);
}
