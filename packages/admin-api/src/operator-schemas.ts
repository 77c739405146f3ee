import { Type, type Static } from "typebox";
import { OPERATOR_ROLES } from "./sessions.ts";

/** Operators and sign-in: request and response schemas (see schemas.ts). */
const Role = Type.Union(
  OPERATOR_ROLES.map((r) => Type.Literal(r)),
  {
    description:
      "admin: everything; agent: reads, takes over and answers conversations, replays deliveries; viewer: reads",
  },
);
const Email = Type.String({ format: "email", maxLength: 254, description: "unique across the deployment, any case" });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Password = Type.String({ minLength: 12, maxLength: 1024, description: "at least 12 characters" });
const Timestamp = Type.String({ format: "date-time" });

export const OperatorInput = Type.Object(
  { email: Email, name: Type.Optional(Name), role: Role },
  { additionalProperties: false },
);
export const OperatorPatch = Type.Object(
  {
    role: Type.Optional(Role),
    name: Type.Optional(Name),
    disabled: Type.Optional(Type.Boolean({ description: "a disabled operator cannot sign in; their sessions end" })),
  },
  { additionalProperties: false },
);
export const Operator = Type.Object({
  id: Type.String({ format: "uuid" }),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  role: Role,
  tenantId: Type.String({ format: "uuid" }),
  createdAt: Timestamp,
  lastLoginAt: Type.Union([Timestamp, Type.Null()]),
  disabled: Type.Boolean(),
});
export const Invited = Type.Object({
  operator: Operator,
  invitation: Type.Object({
    token: Type.String({
      description: "Shown once: the invitee sets a password with it (POST /v1/auth/accept-invitation)",
    }),
    expiresAt: Timestamp,
  }),
});
export const SignedInBody = Type.Object({
  operator: Operator,
  csrfToken: Type.String({ description: "send it as x-csrf-token with every change made with the session cookie" }),
});
export const LoginInput = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
export const AcceptInvitationInput = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 100 }), password: Password, name: Type.Optional(Name) },
  { additionalProperties: false },
);

export const operatorView = (o: {
  id: string;
  email: string;
  name: string | null;
  role: string;
  tenantId: string;
  createdAt: Date;
  lastLoginAt: Date | null;
  disabled: boolean;
}): Static<typeof Operator> => ({
  id: o.id,
  email: o.email,
  name: o.name,
  role: o.role as Static<typeof Role>,
  tenantId: o.tenantId,
  createdAt: o.createdAt.toISOString(),
  lastLoginAt: o.lastLoginAt?.toISOString() ?? null,
  disabled: o.disabled,
});
