/**
 * A content run's decision wait on the task page. The decision is made where the content is
 * (the company's page selects personas, the approvals inbox approves topics and posts), which
 * completes the wait in the same transaction; completing the waitpoint by hand would only wake
 * the run to read its gates and wait again. Its timeout is the run's hourly re-read, not the
 * gate's deadline, so it is said as such.
 */
import type { Task, Waitpoint } from '@dashboard/api/types.ts';
import { Link } from '@dashboard/components/link.tsx';
import { formatTime } from '@dashboard/lib/format.ts';
import { decisionPhaseOf } from '../decision-waits.ts';

const phaseWords: Record<string, string> = { topic: 'topic', blog_post: 'blog post' };

export function DecisionWait({ waitpoint, task }: { waitpoint: Waitpoint; task: Task }) {
  const phase = decisionPhaseOf(waitpoint.key)!;
  const input = (task.task_data ?? {}) as { company_id?: unknown; approval_timeout_hours?: unknown };
  const companyId = typeof input.company_id === 'string' ? input.company_id : null;
  const hours = typeof input.approval_timeout_hours === 'number' ? input.approval_timeout_hours : null;
  return (
    <div class="decision-wait" data-testid="decision-wait">
      {phase === 'personas' ? (
        <p>A marketer selects the personas on {companyId ? <Link href={`/content/companies/${encodeURIComponent(companyId)}`}>the company's page</Link> : 'the company\'s page'}; the run goes on once they are selected{hours ? `, and fails if none are within ${hours} hours of asking` : ''}.</p>
      ) : (
        <p>A supervisor approves or rejects each {phaseWords[phase] ?? phase.replace('_', ' ')} in <Link href="/content/approvals">the approvals inbox</Link>; the run goes on once all are decided{hours ? `, or with those approved ${hours} hours after asking` : ''}.</p>
      )}
      <p class="muted small">
        Decided there, the run hears of it at once{waitpoint.timeout_at ? `; it also reads its gates again by ${formatTime(waitpoint.timeout_at)}` : ''}.{' '}
        <Link href={`/content/runs/${encodeURIComponent(task.id)}`}>The run's tree</Link>
      </p>
    </div>
  );
}
