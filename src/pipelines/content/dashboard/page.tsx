/**
 * The content pipeline's dashboard page: companies, a company, the approvals inbox, a blog post
 * preview and a run's tree (content-pages.tsx); on a run's task page, where its decision waits are
 * decided (decision-wait.tsx).
 */
import type { DashboardPage } from '@dashboard/lib/pipeline-pages.ts';
import { match } from '@dashboard/lib/router.ts';
import { decisionPhaseOf } from '../decision-waits.ts';
import { ApprovalsPage, CompaniesPage, CompanyPage, PostPage, RunPage } from './content-pages.tsx';
import { DecisionWait } from './decision-wait.tsx';

export const page: DashboardPage = {
  navigation: { href: '/content', label: 'Content', active: (path) => path.startsWith('/content') },
  render(path) {
    if (path === '/content') return <CompaniesPage />;
    if (path === '/content/approvals') return <ApprovalsPage />;
    const company = match('/content/companies/:id', path);
    if (company) return <CompanyPage companyId={company.id!} />;
    const post = match('/content/posts/:id', path);
    if (post) return <PostPage postId={post.id!} />;
    const run = match('/content/runs/:id', path);
    return run ? <RunPage jobId={run.id!} /> : null;
  },
  waitpoint: (waitpoint, task) => (task.task_type === 'content_pipeline' && decisionPhaseOf(waitpoint.key) !== null ? <DecisionWait waitpoint={waitpoint} task={task} /> : null),
};
