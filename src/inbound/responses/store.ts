import type { Json } from "../openai/check";

// What the Responses routes need from storage, small so the SQLite store (store/responses.ts) can be
// swapped for the PostgreSQL one of a cluster (SPEC §8). Everything is scoped by client: one client never sees
// another's responses (its ids are simply unknown). `put` makes a response readable at once.

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
