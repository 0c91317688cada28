[
  inputs: ["{mix,.formatter}.exs", "lib/flamed/**/*.ex", "tests/**/*.{ex,exs}"],
  locals_without_parens: [field: 2, field: 3, oneof: 2, rpc: 3],
  line_length: 98
]
