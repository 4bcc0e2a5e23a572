export { createOpenAIWireAdapter, modelsUrlFor, openaiAdapter, openaiRoutes, parseModelList, quirksOf, type OpenAIWireRoutes } from "./adapter";
export { decodeChatResponse, decodeChatStream, decodeUsage, mapFinishReason, OpenAIChunkDecoder } from "./decode";
export { encodeChatRequest } from "./encode";
