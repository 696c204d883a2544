/**
 * `generate_dna` (seed: Perplexity): research the company's 30+ data points with the research
 * model and store them, "Not found" where research found nothing.
 */
import type { AnyTaskDefinition } from '../../kit/index.ts';
import { getCompany, normaliseDna, notFoundFields, saveDna } from './companies-store.ts';
import { contentJob } from './job.ts';
import { dnaInstructions, dnaPrompt } from './prompts.ts';
import { dnaAnswer, dnaInput, jobTypes, type CompanyDna } from './schemas.ts';
import type { ContentServices } from './services.ts';

export function createDnaTask(services: ContentServices): AnyTaskDefinition[] {
  const { llm, pool } = services;
  return contentJob(services, {
    jobType: jobTypes.dna,
    input: dnaInput,
    async run(context, report) {
      const company = await getCompany(pool, context.tenant, context.input.company_id);
      report(5, `researching ${company.name}`);
      const research = await context.step('research', async (step) => {
        const answer = await llm.generateStructured({
          purpose: 'research',
          schema: dnaAnswer,
          instructions: dnaInstructions,
          prompt: dnaPrompt(company),
          signal: context.signal,
          context: { taskId: context.taskId, step: 'research' },
        });
        const dna = normaliseDna(answer.object.dna);
        step.emit('dna_generated', { company_id: company.id, not_found: notFoundFields(dna), sources: answer.object.sources.length, model: answer.model });
        return { dna, sources: answer.object.sources, model: answer.model };
      }, {
        save: (transaction, result) => saveDna(transaction, { tenant: context.tenant, companyId: company.id, data: result.dna as CompanyDna, sources: result.sources, model: result.model, taskId: context.taskId }),
      });
      report(100, `DNA of ${company.name}: ${Object.keys(research.dna).length - notFoundFields(research.dna).length} points found`);
      return { company_id: company.id, data_points: Object.keys(research.dna).length, not_found: notFoundFields(research.dna), sources: research.sources.length, model: research.model };
    },
  });
}
