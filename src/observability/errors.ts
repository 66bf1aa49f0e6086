import { GovernorError } from '../errors.ts';

/** The per-installation telemetry secret is missing or too short to key an HMAC safely. */
export class TelemetrySecretError extends GovernorError {
  constructor(readonly bytes: number) {
    super(
      'TELEMETRY_SECRET_INVALID',
      `the telemetry secret has ${bytes} bytes but needs at least 16: generate one with ` +
        `generateInstallationSecret() once per installation and keep it (a plain hash of a guessable ` +
        `organisation id is not anonymous)`,
    );
  }
}

/** A telemetry or metrics option is out of range (a batch size of 0, a negative retention, …). */
export class InvalidTelemetryOptionError extends GovernorError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    expected: string,
  ) {
    super('INVALID_TELEMETRY_OPTION', `telemetry option "${option}" must be ${expected}, got ${String(value)}`);
  }
}

/** A sink could not take a batch; the collector keeps the batch and retries on the next flush. */
export class TelemetrySinkError extends GovernorError {
  constructor(
    readonly sink: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'TELEMETRY_SINK_FAILED',
      `telemetry sink "${sink}" did not take the batch: ${detail}; the events stay buffered (oldest dropped ` +
        `and counted when the buffer is full) until a flush succeeds`,
      options,
    );
  }
}

/** The metrics endpoint could not listen (port taken, no permission). */
export class MetricsServerError extends GovernorError {
  constructor(
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    const reason = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(
      'METRICS_SERVER_FAILED',
      `cannot serve metrics on ${host}:${port} (${reason}): choose another port, or 0 for any free one`,
      options,
    );
  }
}
