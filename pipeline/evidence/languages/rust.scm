; Evidence queries for Rust (tree-sitter-rust).
;
;   @def.<kind>   a definition node; <kind> is the symbol kind; @name its name
;   @impl         an `impl` block (@impl.type its self type, @impl.trait the trait)
;   @mod.decl     `mod name;` (a child module in another file)
;   @use          a `use` declaration
;   @call + @call.callee   call sites
; When several definition patterns match one node, the earliest pattern wins, so the
; method patterns (functions of impl and trait bodies) come before plain functions.

(impl_item body: (declaration_list (function_item name: (identifier) @name) @def.method))
(trait_item body: (declaration_list (function_item name: (identifier) @name) @def.method))
(trait_item body: (declaration_list (function_signature_item name: (identifier) @name) @def.method))

(function_item name: (identifier) @name) @def.function
(function_signature_item name: (identifier) @name) @def.function
(struct_item name: (type_identifier) @name) @def.struct
(union_item name: (type_identifier) @name) @def.struct
(enum_item name: (type_identifier) @name) @def.enum
(trait_item name: (type_identifier) @name) @def.trait
(type_item name: (type_identifier) @name) @def.type
(mod_item name: (identifier) @name body: (declaration_list)) @def.module

(impl_item trait: (_)? @impl.trait type: (_) @impl.type) @impl
(mod_item name: (identifier) @name !body) @mod.decl

(use_declaration) @use

(call_expression function: (_) @call.callee) @call
