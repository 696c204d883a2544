/**
 * `generate_dna` (seed: Perplexity): research the company's 30+ data points with the research
 * model and store them, "Not found" where research found nothing.
 *
 * With no research model from a provider, the research finds nothing: the offline model reads no
 * web page, and the facts it would write (a founding year, key people, sources) would be made up,
 * which a company's DNA must never hold ("never invented", docs/pipelines/content.md). The DNA then
 * has the company's own name and every other point "Not found", for a marketer to fill in
 * (`PATCH /api/v1/content/companies/{id}/dna`); the later stages write from what it holds. A
 * research provider that fails while the offline model stands in for it (the fallback list) fails
 * the attempt instead: nothing of the stand-in's answer is stored.
 */
import { z } from 'zod';
import { isOfflineModel, refuseOfflineFallback } from '../../llm/index.ts';
import { pipelinedStep, type AnyTaskDefinition, type PipelinedStep, type TaskContext } from '../../kit/index.ts';
import { getCompany, normaliseDna, notFoundFields, saveDna, type Company } from './companies-store.ts';
import { contentJob } from './job.ts';
import { dnaInstructions, dnaPrompt } from './prompts.ts';
import { companyDna, dnaAnswer, dnaInput, jobTypes, notFound, type CompanyDna } from './schemas.ts';
import type { ContentServices } from './services.ts';

export interface DnaResearch {
  dna: CompanyDna;
  sources: Array<{ field: string; url: string; title: string }>;
  model: string;
}

/**
 * The research step, shared by generate_dna and content_pipeline: the research model's answer,
 * stored as the company's DNA with the step's checkpoint. `after`: a checkpoint this one must
 * follow (pipelined-step.ts).
 */
export function researchDna(services: ContentServices, context: TaskContext<unknown>, company: Company, options: { key: string; after?: Promise<unknown> }): PipelinedStep<DnaResearch> {
  return pipelinedStep(context, options.key, async (step) => {
    const researchModel = services.llm.resolveModel('research');
    if (isOfflineModel(researchModel)) {
      const dna = nothingResearched(company);
      step.emit('dna_generated', { company_id: company.id, not_found: notFoundFields(dna), sources: 0, model: researchModel, offline: true });
      await options.after;
      return { dna, sources: [], model: researchModel };
    }
    const answer = await services.llm.generateStructured({
      purpose: 'research',
      schema: dnaAnswer,
      instructions: dnaInstructions,
      prompt: dnaPrompt(company),
      signal: context.signal,
      context: { taskId: context.taskId, step: options.key },
    });
    // The research provider failed and the offline fallback answered (TASKLOOM_LLM_FALLBACK_MODELS):
    // its founding year, people and sources would be made up. The attempt fails and is retried.
    refuseOfflineFallback(answer, researchModel, 'is not research about this company');
    const dna = normaliseDna(answer.object.dna);
    step.emit('dna_generated', { company_id: company.id, not_found: notFoundFields(dna), sources: answer.object.sources.length, model: answer.model });
    await options.after;
    return { dna, sources: answer.object.sources, model: answer.model };
  }, {
    save: (transaction, result) => saveDna(transaction, { tenant: context.tenant, companyId: company.id, data: result.dna, sources: result.sources, model: result.model, taskId: context.taskId }),
  });
}

/** The DNA of a research that read nothing: the company's name, and every other point not found. */
function nothingResearched(company: Company): CompanyDna {
  const dna: Record<string, unknown> = {};
  for (const [field, schema] of Object.entries(companyDna.shape)) {
    dna[field] = schema instanceof z.ZodArray ? [] : schema instanceof z.ZodNullable ? null : notFound;
  }
  return { ...dna, company_name: company.name } as CompanyDna;
}

export function createDnaTask(services: ContentServices): AnyTaskDefinition[] {
  const { pool } = services;
  return contentJob(services, {
    jobType: jobTypes.dna,
    input: dnaInput,
    async run(context, report) {
      const company = await getCompany(pool, context.tenant, context.input.company_id);
      report(5, `researching ${company.name}`);
      const research = await researchDna(services, context, company, { key: 'research' }).committed;
      report(100, `DNA of ${company.name}: ${Object.keys(research.dna).length - notFoundFields(research.dna).length} points found`);
      return { company_id: company.id, data_points: Object.keys(research.dna).length, not_found: notFoundFields(research.dna), sources: research.sources.length, model: research.model };
    },
  });
}
