import { dirname, join } from 'node:path';
import ts from 'typescript';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import type { KubeObject } from './helm';

/** KindModel is how one kind is checked: its runtime model and the TypeScript interface of its fields. */
interface KindModel {
  /** validate throws when the object breaks the kind's OpenAPI schema (types, formats, enums, required). */
  readonly validate: (object: KubeObject) => void;
  /** typeImport is the module and interface the object must be assignable to, excess fields refused. */
  readonly typeImport: { readonly module: string; readonly name: string };
}

/** kindModel makes the KindModel of a kubernetes-models class and the interface of its fields. */
function kindModel(
  Model: new (data: never) => { validate(): void },
  module: string,
  name: string,
): KindModel {
  return { validate: (o) => new Model(o as never).validate(), typeImport: { module, name } };
}

/** MODELS lists every kind the chart may render, by `apiVersion/kind`. */
const MODELS: Readonly<Record<string, KindModel>> = {
  'apps/v1/StatefulSet': kindModel(StatefulSet, 'kubernetes-models/apps/v1/StatefulSet', 'IStatefulSet'),
  'batch/v1/Job': kindModel(Job, 'kubernetes-models/batch/v1/Job', 'IJob'),
  'v1/Service': kindModel(Service, 'kubernetes-models/v1/Service', 'IService'),
  'v1/ConfigMap': kindModel(ConfigMap, 'kubernetes-models/v1/ConfigMap', 'IConfigMap'),
  'policy/v1/PodDisruptionBudget': kindModel(
    PodDisruptionBudget,
    'kubernetes-models/policy/v1/PodDisruptionBudget',
    'IPodDisruptionBudget',
  ),
  'monitoring.coreos.com/v1/ServiceMonitor': kindModel(
    ServiceMonitor,
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    'IServiceMonitor',
  ),
  'monitoring.coreos.com/v1/PrometheusRule': kindModel(
    PrometheusRule,
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    'IPrometheusRule',
  ),
  'cert-manager.io/v1/Certificate': kindModel(
    Certificate,
    '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate',
    'ICertificate',
  ),
};

/** modelOf finds the model of `object`'s kind, or throws naming the kind nothing checks. */
function modelOf(object: KubeObject): KindModel {
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (model === undefined)
    throw new Error(`no schema for ${object.apiVersion} ${object.kind}: add it to MODELS`);
  return model;
}

/**
 * schemaErrors validates each object against its kind's OpenAPI schema (kubernetes-models'
 * compiled validators) and returns one message per invalid object.
 */
export function schemaErrors(objects: readonly KubeObject[]): string[] {
  const errors: string[] = [];
  for (const object of objects) {
    try {
      modelOf(object).validate(object);
    } catch (e) {
      errors.push(`${object.kind} ${object.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return errors;
}

/** VIRTUAL_FILE is where the typed copy of the objects lives for the compiler (never written). */
const VIRTUAL_FILE = join(__dirname, '__rendered_objects__.ts');

/**
 * typeErrors compiles every object as a typed literal (`const o: IStatefulSet = {...}`) with the
 * TypeScript compiler, so a field the kind does not have (`replicaz`), a wrong type or a missing
 * required field is an error, which the OpenAPI validators let through for unknown fields. One
 * program for all objects: the kinds' declarations are read once.
 */
export function typeErrors(objects: readonly KubeObject[]): string[] {
  const imports = new Set<string>();
  const lines: string[] = [];
  objects.forEach((object, i) => {
    const { module, name } = modelOf(object).typeImport;
    imports.add(`import type { ${name} } from '${module}';`);
    lines.push(
      `// ${object.kind} ${object.metadata.name}`,
      `export const o${i}: ${name} = ${JSON.stringify(object)};`,
    );
  });
  const source = [...imports, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName === VIRTUAL_FILE
      ? ts.createSourceFile(fileName, source, languageVersion, true)
      : getSourceFile(fileName, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === VIRTUAL_FILE || fileExists(fileName);
  const program = ts.createProgram([VIRTUAL_FILE], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file === undefined || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const lineText = source.split('\n')[line] ?? '';
    const previous = source.split('\n')[line - 1] ?? '';
    return `${previous.startsWith('//') ? previous.slice(3) : dirname(d.file.fileName)}: ${text} (${lineText.slice(0, 80)}...)`;
  });
}
