; Python evidence query (tree-sitter-python 0.25).
;
; One pass over the tree captures the nodes the Python adapter starts from; the adapter then
; places each capture in its scope by byte offset, so no subtree is walked twice.
; Capture names are the contract with pipeline/evidence/languages/python.py.

; -- Scopes ------------------------------------------------------------------------------
; Definitions become symbols (or, inside functions, anonymous scopes); a lambda is a
; scope of its own so that a `yield` in it does not make the enclosing function a generator.
(function_definition) @definition.function
(class_definition) @definition.class

(lambda) @scope.lambda

; -- Imports -----------------------------------------------------------------------------
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import

; -- Calls -------------------------------------------------------------------------------
; Only calls whose callee is a name or an attribute chain (the adapter checks the chain's
; root); `a[0]()`, `f()()` and `", ".join()` are not captured, except `super().name()`.
(call
  function: (identifier) @call.name)

(call
  function: (attribute
    object: [(identifier) (attribute)]) @call.attribute)

(call
  function: (attribute
    object: (call
      function: (identifier) @_super
      (#eq? @_super "super"))) @call.super)

; -- Control flow facts of a function body -----------------------------------------------
(raise_statement) @raise
(yield) @yield
(return_statement) @return

; -- Bindings ----------------------------------------------------------------------------
; Plain and annotated assignments: variables at module and class level, `self.x = ...`
; attributes in methods. Chained assignments (`a = b = 1`) are unrolled by the adapter.
(expression_statement
  (assignment) @assignment)

(type_alias_statement) @type_alias

; `__all__ += [...]` extends the export list.
(expression_statement
  (augmented_assignment
    left: (identifier) @_all_target
    (#eq? @_all_target "__all__")) @all.augment)

; -- Script guard ------------------------------------------------------------------------
; `if __name__ == "__main__":` (either operand order); the adapter checks the string.
(if_statement
  condition: (comparison_operator
    (identifier) @_main_name
    (#eq? @_main_name "__name__")) @main.condition)
