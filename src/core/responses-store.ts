// What the Responses routes need from storage (SPEC §2): small, so the SQLite store
// (store/responses.ts) and the PostgreSQL one of several nodes (store/postgres/responses.ts) are
// interchangeable. Everything is scoped by client: one client never sees another's responses (its
// ids are simply unknown). `put` makes a response readable at once.

type Json = Record<string, unknown>;

export interface StoredResponse {
  id: string;
  /** Client id ("" when no clients are configured). */
  client: string;
  /** ms since epoch. */
  createdAt: number;
  /** The response object as the client got it. */
  response: Json;
  /** The request's own input items (item references resolved), each with an `id`. */
  input: Json[];
  previousResponseId?: string;
}

export interface ResponseStore {
  put(r: StoredResponse): void;
  get(client: string, id: string): Promise<StoredResponse | undefined>;
  /** An input or output item of one of the client's stored responses, by item id. */
  item(client: string, id: string): Promise<Json | undefined>;
  delete(client: string, id: string): Promise<boolean>;
  /** Stops background work and writes what still waits (shutdown). */
  close(): void | Promise<void>;
}
