// The store the Responses routes use lives below them, in core (core/responses-store.ts).
export type { ResponseStore, StoredResponse } from "../../core/responses-store";
