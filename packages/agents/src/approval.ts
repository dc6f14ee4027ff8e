import { APPROVAL_ON_TIMEOUT } from '@strata/db/enums';
import { APPROVAL_LIMITS, type ApprovalDecision, NonRetryableError } from '@strata/engine';
import { z } from 'zod';
import { dependencyScope, fillTemplate, parseInput, TemplateError } from './template.ts';
import type { BuiltInAgent } from './types.ts';

export const approvalInput = z.object({
  prompt: z
    .string()
    .trim()
    .min(1, 'prompt is required')
    .max(APPROVAL_LIMITS.promptMaxChars)
    .meta({ description: 'The question put to the approver; may hold {{input.<path>}} and {{deps.<key>.<path>}} placeholders' }),
  details: z
    .unknown()
    .superRefine((value, issue) => {
      const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
      if (bytes > APPROVAL_LIMITS.detailsMaxBytes) issue.addIssue({ code: 'custom', message: `too large: ${bytes} bytes as JSON (limit ${APPROVAL_LIMITS.detailsMaxBytes})` });
    })
    .optional()
    .meta({ description: 'Anything the approver should see beside the prompt (text or JSON), shown as it is' }),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(APPROVAL_LIMITS.timeoutMaxSeconds)
    .optional()
    .meta({ description: 'Unanswered after this long, onTimeout decides; without it the approval waits as long as it takes' }),
  onTimeout: z.enum(APPROVAL_ON_TIMEOUT).optional().meta({ description: 'What an unanswered approval becomes at its timeout (default reject)' }),
});
export type ApprovalInput = z.infer<typeof approvalInput>;

/** The task's result when approved (a rejection fails the task instead). */
export type ApprovalResult = ApprovalDecision;

/** The error code of a rejected (or timed-out-as-rejected) approval, in the task-failed event. */
export const APPROVAL_REJECTED = 'approval_rejected';

class ApprovalRejected extends NonRetryableError {
  readonly code = APPROVAL_REJECTED;
}

/**
 * A person in the loop: asks a member with the operator role or above to approve or reject, and
 * waits durably (no worker slot, across restarts) for the answer. Approved, the task completes
 * with `{ approved, by, at, comment, timedOut }`; rejected, it fails without retries and the
 * execution follows its onTaskFailure. At `timeoutSeconds`, `onTimeout` decides (`by` null).
 */
export const approvalAgent: BuiltInAgent = () => ({
  inputSchema: approvalInput,
  description: 'Asks a person (operator or above) to approve or reject, and waits durably for the answer: approved completes, rejected fails the task.',
  example: { prompt: 'Send the launch email to all subscribers?', details: { recipients: 1200 }, timeoutSeconds: 86400, onTimeout: 'reject' },
  run: async ({ task, execution, dependencies, waitForApproval }): Promise<ApprovalResult> => {
    const input = parseInput(approvalInput, task.input, 'approval');
    let prompt: string;
    try {
      prompt = fillTemplate(input.prompt, { variables: [], deps: dependencyScope(dependencies), input: execution.input }, { maxChars: APPROVAL_LIMITS.promptMaxChars });
    } catch (error) {
      if (error instanceof TemplateError) throw new NonRetryableError(`Approval prompt: ${error.message}`, { cause: error });
      throw error;
    }
    const decision = await waitForApproval({ prompt, details: input.details, timeoutSeconds: input.timeoutSeconds, onTimeout: input.onTimeout });
    if (decision.approved) return decision;
    const who = decision.by ? (decision.by.name ? `${decision.by.name} <${decision.by.email}>` : decision.by.email) : null;
    throw new ApprovalRejected(
      decision.timedOut ? `Not approved in time: rejected at ${decision.at} (onTimeout: reject)` : `Rejected by ${who ?? 'a former member'}${decision.comment ? `: ${decision.comment}` : ''}`,
    );
  },
});
