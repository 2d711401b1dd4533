import protobuf from "protobufjs"

/**
 * The part of ONNX's onnx.proto (IR version 8) an exported model uses, as a protobufjs schema:
 * message and field numbers as the ONNX specification defines them.
 */
const field = (id: number, type: string, rule?: "repeated") => ({ id, type, ...(rule ? { rule } : {}) })

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: field(1, "int64"),
            producerName: field(2, "string"),
            producerVersion: field(3, "string"),
            domain: field(4, "string"),
            modelVersion: field(5, "int64"),
            docString: field(6, "string"),
            graph: field(7, "GraphProto"),
            opsetImport: field(8, "OperatorSetIdProto", "repeated"),
            metadataProps: field(14, "StringStringEntryProto", "repeated")
          }
        },
        OperatorSetIdProto: { fields: { domain: field(1, "string"), version: field(2, "int64") } },
        StringStringEntryProto: { fields: { key: field(1, "string"), value: field(2, "string") } },
        GraphProto: {
          fields: {
            node: field(1, "NodeProto", "repeated"),
            name: field(2, "string"),
            initializer: field(5, "TensorProto", "repeated"),
            docString: field(10, "string"),
            input: field(11, "ValueInfoProto", "repeated"),
            output: field(12, "ValueInfoProto", "repeated")
          }
        },
        NodeProto: {
          fields: {
            input: field(1, "string", "repeated"),
            output: field(2, "string", "repeated"),
            name: field(3, "string"),
            opType: field(4, "string"),
            attribute: field(5, "AttributeProto", "repeated"),
            domain: field(7, "string")
          }
        },
        AttributeProto: {
          fields: {
            name: field(1, "string"),
            f: field(2, "float"),
            i: field(3, "int64"),
            s: field(4, "bytes"),
            floats: field(7, "float", "repeated"),
            ints: field(8, "int64", "repeated"),
            type: field(20, "int32")
          }
        },
        TensorProto: {
          fields: {
            dims: field(1, "int64", "repeated"),
            dataType: field(2, "int32"),
            name: field(8, "string"),
            rawData: field(9, "bytes")
          }
        },
        ValueInfoProto: { fields: { name: field(1, "string"), type: field(2, "TypeProto") } },
        TypeProto: {
          nested: { Tensor: { fields: { elemType: field(1, "int32"), shape: field(2, "TensorShapeProto") } } },
          fields: { tensorType: field(1, "Tensor") }
        },
        TensorShapeProto: {
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dimValue", "dimParam"] } },
              fields: { dimValue: field(1, "int64"), dimParam: field(2, "string") }
            }
          },
          fields: { dim: field(1, "Dimension", "repeated") }
        }
      }
    }
  }
})

const ModelProto = root.lookupType("onnx.ModelProto")

/** ONNX's TensorProto.DataType.FLOAT. */
export const ONNX_FLOAT = 1

/** AttributeProto.AttributeType values. */
export const ATTRIBUTE = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const

export interface OnnxAttribute {
  readonly name: string
  readonly type: (typeof ATTRIBUTE)[keyof typeof ATTRIBUTE]
  readonly f?: number
  readonly i?: number
  readonly s?: Uint8Array
  readonly floats?: ReadonlyArray<number>
  readonly ints?: ReadonlyArray<number>
}

export interface OnnxNode {
  readonly name: string
  readonly opType: string
  readonly input: ReadonlyArray<string>
  readonly output: ReadonlyArray<string>
  readonly attribute: ReadonlyArray<OnnxAttribute>
}

export interface OnnxTensor {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly dataType: number
  readonly rawData: Uint8Array
}

/** A tensor's name, element type and shape; a string dimension is symbolic (e.g. the batch "N"). */
export interface OnnxValue {
  readonly name: string
  readonly shape: ReadonlyArray<number | string>
}

export interface OnnxModel {
  readonly producerName: string
  readonly producerVersion: string
  readonly docString: string
  readonly opset: number
  readonly graphName: string
  readonly nodes: ReadonlyArray<OnnxNode>
  readonly initializers: ReadonlyArray<OnnxTensor>
  readonly inputs: ReadonlyArray<OnnxValue>
  readonly outputs: ReadonlyArray<OnnxValue>
  readonly metadata: Readonly<Record<string, string>>
}

/** IR version 8 goes with opset 17 (ONNX 1.12, the oldest toolchain we check against). */
const IR_VERSION = 8

const valueInfo = (v: OnnxValue) => ({
  name: v.name,
  type: {
    tensorType: {
      elemType: ONNX_FLOAT,
      shape: { dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) }
    }
  }
})

/** The model as the bytes of an ONNX ModelProto. */
export const encodeOnnx = (m: OnnxModel): Uint8Array =>
  ModelProto.encode(
    ModelProto.fromObject({
      irVersion: IR_VERSION,
      producerName: m.producerName,
      producerVersion: m.producerVersion,
      docString: m.docString,
      opsetImport: [{ domain: "", version: m.opset }],
      metadataProps: Object.entries(m.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: m.graphName,
        node: m.nodes,
        initializer: m.initializers,
        input: m.inputs.map(valueInfo),
        output: m.outputs.map(valueInfo)
      }
    })
  ).finish()
