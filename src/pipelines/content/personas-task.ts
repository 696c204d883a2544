/**
 * `generate_personas`: six personas (by default) from the company's DNA, stored as drafts; a
 * selection (`POST personas/select/`) makes 3-6 of them active. A company with no DNA is refused
 * (`dna_required`): personas from its name alone would be made up.
 */
import { pipelinedStep, type AnyTaskDefinition, type PipelinedStep, type TaskContext } from '../../kit/index.ts';
import { getCompany, getDna, type Company } from './companies-store.ts';
import { DnaRequiredError } from './errors.ts';
import { contentJob } from './job.ts';
import { replaceDraftPersonas } from './personas-store.ts';
import { dnaContext, personasInstructions, personasPrompt } from './prompts.ts';
import { jobTypes, personasAnswer, personasInput, type CompanyDna, type GeneratedPersona } from './schemas.ts';
import { writingModel, type ContentServices } from './services.ts';

/**
 * The step writing `count` personas from the DNA, shared by generate_personas and
 * content_pipeline; they replace the company's draft personas with the step's checkpoint.
 * `after`: a checkpoint this one must follow (pipelined-step.ts).
 */
export function writePersonas(services: ContentServices, context: TaskContext<unknown>, company: Company, dna: CompanyDna | undefined, count: number, options: { key: string; after?: Promise<unknown> }): PipelinedStep<{ personas: GeneratedPersona[]; model: string }> {
  const model = writingModel(services.config);
  return pipelinedStep(context, options.key, async (step) => {
    const answer = await services.llm.generateStructured({
      ...(model ? { model } : {}),
      schema: personasAnswer(count),
      instructions: personasInstructions,
      prompt: personasPrompt(dnaContext(company, dna), count),
      signal: context.signal,
      context: { taskId: context.taskId, step: options.key },
    });
    step.emit('personas_generated', { company_id: company.id, personas: answer.object.personas.length, model: answer.model });
    await options.after;
    return { personas: answer.object.personas, model: answer.model };
  }, {
    // A checkpoint from before migration content/0002 holds no model.
    save: (transaction, result) => replaceDraftPersonas(transaction, { tenant: context.tenant, companyId: company.id, taskId: context.taskId, model: result.model ?? null }, result.personas),
  });
}

export function createPersonasTask(services: ContentServices): AnyTaskDefinition[] {
  const { pool } = services;
  return contentJob(services, {
    jobType: jobTypes.personas,
    input: personasInput,
    async run(context, report) {
      const { input } = context;
      const company = await getCompany(pool, context.tenant, input.company_id);
      const dna = await getDna(pool, context.tenant, company.id);
      // Checked when the job was asked for too; the DNA cannot be removed but with the company.
      if (!dna) throw new DnaRequiredError(company.id);
      report(10, `writing ${input.count} personas`);
      const generated = await writePersonas(services, context, company, dna.data, input.count, { key: 'personas' }).committed;
      report(100, `${generated.personas.length} personas`);
      return { company_id: company.id, personas: generated.personas.length, model: generated.model };
    },
  });
}
