import { HttpError } from "@cb/core";
import { generateSigningSecret } from "@cb/fulfillment";
import { type TSchema, Type } from "typebox";

/**
 * Signing-secret rotation in two steps, so receivers can switch in between: start adds a new
 * secret that signs beside the current one (Standard Webhooks allows several signatures), finish
 * drops every secret but the newest. Secrets are kept newest first.
 */
export const RotateBody = Type.Object(
  {
    keepPrevious: Type.Optional(
      Type.Boolean({
        default: true,
        description: "false replaces the secret at once (a leaked secret): the previous one stops signing now",
      }),
    ),
  },
  { additionalProperties: false },
);

export function startRotation(current: string[], keepPrevious: boolean): { secrets: string[]; signingSecret: string } {
  // A second start would silently drop the secret receivers may still be using.
  if (keepPrevious && current.length > 1)
    throw new HttpError(
      409,
      "rotation_in_progress",
      "a rotation is in progress: finish it (rotate-secret/finish) first",
    );
  const signingSecret = generateSigningSecret();
  return { secrets: [signingSecret, ...(keepPrevious ? current.slice(0, 1) : [])], signingSecret };
}

/** Keeps the newest secret only; with nothing to finish it changes nothing (so finishing twice is harmless). */
export const finishRotation = (current: string[]): string[] => current.slice(0, 1);

/** A write that lost a race with another change of the same secrets. */
export const concurrentChange = () =>
  new HttpError(409, "conflict", "the secrets changed while this request ran; try again");

/** What finishing answers: the object as it now is, and how many secrets stopped signing (0: nothing to finish). */
export const RotationFinished = <T extends TSchema>(object: T, key: string) =>
  Type.Object({ [key]: object, removedSecrets: Type.Integer({ minimum: 0 }) });
