export { program } from "./program.ts";
export { rotateSecrets } from "./rotate.ts";
