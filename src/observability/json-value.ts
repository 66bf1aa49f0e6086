// Its own file: events.ts checks events with redact.ts, and redact.ts produces these values.

/** What survives JSON: the only values a telemetry event's properties can hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
