import type { Json } from "../openai/check";

// What the Responses routes need from storage, small so the SQLite store can be swapped for the
// PostgreSQL one of a cluster (SPEC §8). Everything is scoped by client: one client never sees
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
}

/** A store in memory (tests, and a gateway run without a database). */
export class MemoryResponseStore implements ResponseStore {
  private readonly responses = new Map<string, StoredResponse>();
  private readonly items = new Map<string, { responseId: string; item: Json }>();

  put(r: StoredResponse): void {
    this.responses.set(`${r.client}\n${r.id}`, r);
    for (const item of [...r.input, ...((r.response.output as Json[]) ?? [])])
      if (typeof item.id === "string") this.items.set(`${r.client}\n${item.id}`, { responseId: r.id, item });
  }

  async get(client: string, id: string): Promise<StoredResponse | undefined> {
    return this.responses.get(`${client}\n${id}`);
  }

  async item(client: string, id: string): Promise<Json | undefined> {
    const hit = this.items.get(`${client}\n${id}`);
    return hit && this.responses.has(`${client}\n${hit.responseId}`) ? hit.item : undefined;
  }

  async delete(client: string, id: string): Promise<boolean> {
    return this.responses.delete(`${client}\n${id}`);
  }
}
