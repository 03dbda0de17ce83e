{#- Users per week (starting Monday) and lifecycle stage (DATA_CONTRACT §5); see
    macros/lifecycle_counts.sql. -#}
{{ lifecycle_counts('week') }}
