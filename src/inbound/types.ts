import type { Elysia } from "elysia";
import type { GatewayError } from "../core/errors";
import type { Protocol } from "../core/types";
import type { Gateway, RequestContext } from "../core/gateway";
import type { ResponseStore } from "./responses/store";

/** Runs one inbound request: builds its context (auth, idle-timeout off, request id), calls `work`,
 *  and turns any thrown error into this protocol's error response with `x-request-id`. */
export type HandleRequest = (
  request: Request,
  server: Bun.Server<unknown> | null,
  protocol: Protocol,
  work: (ctx: RequestContext) => Promise<Response> | Response,
  opts?: { auth?: boolean },
) => Promise<Response>;

export interface InboundDeps {
  gateway: Gateway;
  handle: HandleRequest;
  /** Current body limit (follows config reloads). */
  maxBodyBytes(): number;
  /** Where Responses API answers are kept (`store`, the default). */
  responses?: ResponseStore;
}

/** A route Bun's own router calls directly (no framework hooks in between). */
export type NativeHandler = (request: Request, server: Bun.Server<unknown> | null) => Promise<Response>;

/** Path → method → handler, in the shape of `Bun.serve({ routes })`. */
export type NativeRoutes = Record<string, Partial<Record<"POST", NativeHandler>>>;

/** One inbound wire protocol: its routes and its error shape. */
export interface InboundProtocol {
  protocol: Protocol;
  /** An error before any answer byte was sent, in this protocol's shape and status. */
  errorResponse(err: GatewayError, requestId: string): Response;
  /** The relaying endpoints, the hot path: served by Bun's router directly. */
  nativeRoutes(deps: InboundDeps): NativeRoutes;
  /** Everything else (model lists, liveness, refusals): Elysia routes. */
  register(app: Elysia, deps: InboundDeps): void;
}
