; Evidence queries for JavaScript (tree-sitter-javascript).
;
; Capture conventions shared by the JS/TS adapters:
;   @def.<kind>      the node of a definition; <kind> is the symbol kind
;   @name            the definition's name (absent for `export default` expressions)
;   @value           the function node when the definition is a binding to a function
;   @exported        a declaration directly under `export`; @export.stmt is that statement
;   @export.name     a local name listed in `export { ... }` / `module.exports = ...`
;   @import / @reexport / @require   import-like statements
;   @call + @call.callee             call sites
; When several definition patterns match one node, the earliest pattern wins.

; -- definitions -----------------------------------------------------------------------

(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(class_declaration name: (identifier) @name) @def.class

; Methods of class bodies only: object-literal methods are not API members.
(class_body (method_definition name: (_) @name) @def.method)
(class_body
  (field_definition
    property: (_) @name
    value: [(arrow_function) (function_expression) (generator_function)] @value) @def.method)

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
