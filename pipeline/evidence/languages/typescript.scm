; Evidence queries for TypeScript and TSX (tree-sitter-typescript). The JavaScript
; patterns of javascript.scm are repeated here with TypeScript node names, followed by
; the TypeScript-only declarations. Capture conventions: see javascript.scm.
; When several definition patterns match one node, the earliest pattern wins.

; -- definitions -----------------------------------------------------------------------

(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
; Overload and ambient signatures (`function f(a: string): void;`, `declare function`).
(function_signature name: (identifier) @name) @def.function
(class_declaration name: (type_identifier) @name) @def.class
(abstract_class_declaration name: (type_identifier) @name) @def.class
(interface_declaration name: (type_identifier) @name) @def.interface
(type_alias_declaration name: (type_identifier) @name) @def.type
(enum_declaration name: (identifier) @name) @def.enum
(internal_module name: (identifier) @name) @def.namespace

; Members of class and interface bodies only: object-literal methods are not API members.
(class_body (method_definition name: (_) @name) @def.method)
(class_body (method_signature name: (_) @name) @def.method)
(class_body (abstract_method_signature name: (_) @name) @def.method)
(class_body
  (public_field_definition
    name: (_) @name
    value: [(arrow_function) (function_expression) (generator_function)] @value) @def.method)
(interface_body (method_signature name: (_) @name) @def.method)

; `const f = (...) => ...`, `const f = function () {}`, `const A = class {}`.
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)] @value) @def.function
(variable_declarator name: (identifier) @name value: (class)) @def.class

; CommonJS `exports.f = function () {}` / `module.exports.f = () => {}`.
(assignment_expression
  left: (member_expression
    object: [(identifier) @_obj
             (member_expression object: (identifier) @_mod property: (property_identifier) @_obj)]
    property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)] @value
  (#eq? @_obj "exports")) @def.function @exported

; `export default function () {}` / `export default class {}` (no name of their own).
(export_statement
  value: [(arrow_function) (function_expression) (generator_function)] @def.function @exported) @export.stmt
(export_statement value: (class) @def.class @exported) @export.stmt

; -- exports ---------------------------------------------------------------------------

(export_statement declaration: (_) @exported) @export.stmt
(export_statement
  declaration: (lexical_declaration (variable_declarator) @exported)) @export.stmt
(export_statement declaration: (ambient_declaration (_) @exported)) @export.stmt
(export_statement value: (identifier) @export.name)
(export_statement (export_clause (export_specifier name: (_) @export.name)) !source)
(assignment_expression
  left: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
  right: [(identifier) @export.name
          (object [(shorthand_property_identifier) @export.name
                   (pair value: (identifier) @export.name)])]
  (#eq? @_m "module")
  (#eq? @_e "exports"))

; -- imports ---------------------------------------------------------------------------

(import_statement) @import
(export_statement source: (_)) @reexport
(variable_declarator
  name: (_) @require.binding
  value: (call_expression
    function: (identifier) @_req
    arguments: (arguments . (string) @require.source))
  (#eq? @_req "require")) @require

; -- calls -----------------------------------------------------------------------------

(call_expression function: (_) @call.callee) @call
(new_expression constructor: (_) @call.callee) @call
