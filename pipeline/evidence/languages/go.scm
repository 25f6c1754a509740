; Evidence queries for Go (tree-sitter-go).
;
;   @def.<kind>   a definition node; <kind> is the symbol kind; @name its name
;   @package      the package clause's name
;   @import       one import spec
;   @call + @call.callee   call sites
; When several definition patterns match one node, the earliest pattern wins, so the
; struct and interface patterns come before the catch-all named type.

(package_clause (package_identifier) @package)

(function_declaration name: (identifier) @name) @def.function
(method_declaration name: (field_identifier) @name) @def.method

(type_spec name: (type_identifier) @name type: (struct_type)) @def.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @def.interface
(type_spec name: (type_identifier) @name) @def.type
(type_alias name: (type_identifier) @name) @def.type

; Methods declared by a named interface type (not by interface literals in signatures).
(type_spec type: (interface_type (method_elem name: (field_identifier) @name) @def.method))

(import_spec) @import

(call_expression function: (_) @call.callee) @call
