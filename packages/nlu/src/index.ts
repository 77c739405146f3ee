export {
  IntentClassifier,
  type Classification,
  type ClassifierOptions,
  type Example,
  type SerializedClassifier,
} from "./classifier.ts";
export {
  extractEntities,
  SYSTEM_ENTITIES,
  type EntityMatch,
  type EntityContext,
  type EntityTypeDefinition,
} from "./entities.ts";
export {
  trainModel,
  loadModel,
  sentenceEncoderPlan,
  SENTENCE_ENCODER,
  SURE_AT,
  isSure,
  type TrainOptions,
  type NluModel,
  type IntentDefinition,
  type ParameterDefinition,
  type SerializedModel,
} from "./model.ts";
export {
  understand,
  understandHybrid,
  applyOutputContexts,
  awaitMissing,
  DEFAULT_FALLBACK,
  type DialogContext,
  type DialogState,
  type Understanding,
  type UnderstandInput,
} from "./dialog.ts";
export { normalizeText, tokenize } from "./text.ts";
export { wordVectorsFor, type WordVectors } from "./word-vectors.ts";
export {
  createModelStore,
  DEFAULT_MODEL_CACHE_BYTES,
  type ModelStore,
  type ModelStoreOptions,
  type TrainingVersion,
} from "./store.ts";
export { createTrainer, type Trainer, type TrainerOptions, type TrainingExtra } from "./trainer.ts";
export {
  createSentenceEncoder,
  DEFAULT_TURN_TIMEOUT_MS,
  SENTENCE_DIMENSIONS,
  type SentenceEncoder,
  type SentenceEncoderOptions,
  type SentenceEncoderRuntime,
} from "./sentence-encoder.ts";
export { sentenceVectorsFor, type SentenceVectors } from "./sentence-vectors.ts";
export { trainingStatus, type TrainingStatus } from "./status.ts";
export {
  BUSY_RETRY_MS,
  pruneModels,
  sweepUntrained,
  trainLater,
  trainTenantModel,
  TRAIN_NLU_MODEL,
  TRAINING_QUEUE_PREFIX,
  TRAINING_SWEEP,
  TRAINING_SWEEP_CRONTAB,
  type TrainingOutcome,
} from "./training.ts";
export { createLlmClassifier, type LlmClassifier, type LlmOptions, type LlmChoice } from "./llm.ts";
export {
  crossValidate,
  TOO_FEW_EXAMPLES,
  type Confusion,
  type EvaluationReport,
  type IntentScore,
} from "./evaluate.ts";
export {
  currentVersion,
  enqueueEvaluation,
  evaluateTenant,
  evaluationOf,
  latestEvaluation,
  EVALUATION_TIME_LIMIT_MS,
  NLU_EVALUATE,
  type StoredEvaluation,
} from "./evaluation.ts";
export { BACKGROUND_NICE } from "./thread-priority.ts";
