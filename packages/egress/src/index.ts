export {
  createEgress,
  EgressError,
  type Egress,
  type EgressRequest,
  type EgressResponse,
  type EgressErrorCode,
} from "./client.ts";
export { parsePolicy, refusal, type EgressPolicy } from "./policy.ts";
