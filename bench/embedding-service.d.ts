/** Types of bench/embedding-service.js (the local embedding API of the re-embed tests and bench). */
export interface EmbeddingServiceStats {
  requests: number
  ok: number
  rateLimited: number
  resets: number
  failed: number
  /** Texts embedded in answered requests. */
  inputs: number
  maxInFlight: number
  inFlight: number
}
export interface EmbeddingServiceSettings {
  latencyMs: number
  rateLimitShare: number
  retryAfter: string
  resetShare: number
  noisy: boolean
  failStatus: number
  failAfter: number
}
export interface EmbeddingService {
  url: string
  stats: EmbeddingServiceStats
  settings: EmbeddingServiceSettings
  resetStats(): void
  close(): Promise<void>
}
export function startEmbeddingService(
  opts?: Partial<Omit<EmbeddingServiceSettings, 'failStatus' | 'failAfter'>>,
): Promise<EmbeddingService>
export function embedText(text: string, dim: number): number[]
