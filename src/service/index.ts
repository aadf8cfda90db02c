/**
 * `prio serve`: the live scheduler as an HTTP service (gateway and decision modes), its pure
 * ranking (decide.ts), metrics, request log and the simulated model server. See docs/service.md.
 */
export {
  codecCache,
  observesOtherMapping,
  rank,
  rankingMapping,
  sessionCodecs,
  TOKEN_READ_MODE_OF,
  TOKEN_WRITE_MODE_OF,
  type FailedClosed,
  type MappingName,
  type ObservedRanking,
  type RankInput,
  type RankOptions,
  type Ranked,
  type Ranking,
  type ServiceRequest,
  type SessionCodecs,
  type SessionTokenRejection,
} from './decide.js';
export { createServiceMetrics, type ServiceMetrics, type ServiceMetricsOptions } from './metrics.js';
export { fileRequestLog, kafkaRequestLog, noRequestLog, type FileLogOptions, type KafkaLogOptions, type RequestLog, type RequestLogEvents } from './request-log.js';
export { forward, forwardedHeaders, splitRequestHeaders, type ForwardOptions, type ForwardRequest, type Forwarding } from './forward.js';
export { DEFAULT_VARIANT, startService, type DrainReport, type Service, type ServiceOptions } from './server.js';
export { SERVICE_TIME_DISTRIBUTIONS, serviceTimeSampler, startSimUpstream, type ServiceTimeDistribution, type SimUpstream, type SimUpstreamOptions } from './sim.js';
export { fromDecisionBody, fromHeaders, HEADER, modelOfBody, RESPONSE_HEADER, type WireProblem, type WireRequest } from './wire.js';
