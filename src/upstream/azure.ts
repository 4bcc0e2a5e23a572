import type { ResolvedKey, ResolvedProvider } from "../config/resolve";
import { urlSegment } from "./http";
import { createOpenAIWireAdapter } from "./openai";
import type { Target } from "./types";

// Azure OpenAI (azure-openai.md): the OpenAI wire format on Azure URLs, the key in `api-key`.
// baseUrl is the resource root (`https://NAME.openai.azure.com`): the classic surface
// `/openai/deployments/{deployment}/…?api-version=` is built from it. A baseUrl ending in
// `/openai/v1` selects the v1 surface instead: plain OpenAI paths, the deployment as `model`.
// Content-filter finish reasons, error bodies and the empty first stream chunk are handled by the
// shared decoder and error classifier.

/** GA version used when the provider sets no `apiVersion` (the service refuses requests without one). */
export const DEFAULT_AZURE_API_VERSION = "2024-10-21";

function deploymentOf(target: Target): string {
  return target.provider.deployments[target.model] ?? target.model;
}

function isV1(provider: ResolvedProvider): boolean {
  return /\/openai\/v1$/.test(provider.baseUrl);
}

function deploymentRoute(target: Target, op: "chat/completions" | "embeddings"): { url: string; model: string } {
  const { provider } = target;
  const deployment = deploymentOf(target);
  if (isV1(provider)) return { url: `${provider.baseUrl}/${op}`, model: deployment };
  const version = encodeURIComponent(provider.apiVersion ?? DEFAULT_AZURE_API_VERSION);
  return {
    url: `${provider.baseUrl}/openai/deployments/${urlSegment(deployment, "Azure deployment name")}/${op}?api-version=${version}`,
    // Ignored by the classic surface (the deployment chooses the model); the SDK sends it too.
    model: target.model,
  };
}

/** The Responses API is not under a deployment: `/openai/responses` with the deployment as `model`,
 *  on a preview api-version (2025-03-01-preview or later) on the classic surface. */
export const AZURE_RESPONSES_API_VERSION = "2025-04-01-preview";

function responsesRoute(target: Target): { url: string; model: string } {
  const { provider } = target;
  const model = deploymentOf(target);
  if (isV1(provider)) return { url: `${provider.baseUrl}/responses`, model };
  const configured = provider.apiVersion;
  const version = configured && configured >= "2025-03-01" && configured.endsWith("preview") ? configured : AZURE_RESPONSES_API_VERSION;
  return { url: `${provider.baseUrl}/openai/responses?api-version=${encodeURIComponent(version)}`, model };
}

export const azureAdapter = createOpenAIWireAdapter("azure", {
  chat: (t) => deploymentRoute(t, "chat/completions"),
  responses: responsesRoute,
  embeddings: (t) => deploymentRoute(t, "embeddings"),
  auth: (key: ResolvedKey | undefined): Record<string, string> => (key ? { "api-key": key.secret } : {}),
  modelsUrl: (p) => `${p.baseUrl}/models`,
  // The data plane lists the base models a resource could deploy, not its deployments: the
  // configured deployments are the catalog. Only the v1 surface has a list worth asking for.
  models(provider) {
    const configured = Object.keys(provider.deployments);
    return configured.length > 0 || !isV1(provider) ? configured : undefined;
  },
});
