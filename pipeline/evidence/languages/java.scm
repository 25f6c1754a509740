; Evidence queries for Java (tree-sitter-java).
;
;   @def.<kind>   a definition node; <kind> is the symbol kind; @name its name
;   @package      the package name
;   @import       an import declaration
;   @call + @call.callee   call sites (@call.object: the receiver of a method call)
; Members are matched only inside the bodies of declared types, so methods of
; anonymous classes never become members of the enclosing class.

(package_declaration [(identifier) (scoped_identifier)] @package)

(class_declaration name: (identifier) @name) @def.class
(record_declaration name: (identifier) @name) @def.class
(interface_declaration name: (identifier) @name) @def.interface
(annotation_type_declaration name: (identifier) @name) @def.interface
(enum_declaration name: (identifier) @name) @def.enum

(class_declaration body: (class_body [(method_declaration name: (identifier) @name)
                                       (constructor_declaration name: (identifier) @name)] @def.method))
(record_declaration body: (class_body [(method_declaration name: (identifier) @name)
                                        (constructor_declaration name: (identifier) @name)
                                        (compact_constructor_declaration name: (identifier) @name)] @def.method))
(enum_declaration body: (enum_body (enum_body_declarations
  [(method_declaration name: (identifier) @name)
   (constructor_declaration name: (identifier) @name)] @def.method)))
(interface_declaration body: (interface_body (method_declaration name: (identifier) @name) @def.method))
(annotation_type_declaration
  body: (annotation_type_body (annotation_type_element_declaration name: (identifier) @name) @def.method))

(import_declaration) @import

(method_invocation object: (_)? @call.object name: (identifier) @call.callee) @call
(object_creation_expression type: (_) @call.callee) @call
