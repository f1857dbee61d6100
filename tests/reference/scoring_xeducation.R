# Reference for qualmodel.scoring.fit_score_criterion on the X Education leads:
# logistic regression of Converted on Lead Origin and Do Not Email, with the same coding
# as qualmodel (reference level = most frequent level; levels seen in fewer than 30 leads,
# here "Quick Add Form" with 1 lead, folded into the reference).
# Usage: Rscript tests/reference/scoring_xeducation.R ../shared/data/x_education/Leads.csv
args <- commandArgs(trailingOnly = TRUE)
path <- if (length(args) >= 1) args[1] else "../shared/data/x_education/Leads.csv"
d <- read.csv(path, check.names = FALSE, stringsAsFactors = FALSE)
origin <- d[["Lead Origin"]]
counts <- sort(table(origin), decreasing = TRUE)
ref <- names(counts)[1]
origin[origin %in% names(counts)[counts < 30]] <- ref
origin <- relevel(factor(origin), ref = ref)
dne <- d[["Do Not Email"]] == "Yes"
fit <- glm(d$Converted ~ origin + dne, family = binomial())
s <- summary(fit)$coefficients
terms <- c("intercept", sub("^origin", "lead_origin=", rownames(s)[-1]))
terms[terms == "dneTRUE"] <- "do_not_email=True"
out <- data.frame(term = terms, coef = s[, 1], se = s[, 2], p_value = s[, 4])
write.csv(out, "tests/reference/scoring_xeducation.csv", row.names = FALSE)
cat(sprintf("R %s, n = %d, logLik = %.10f\n", getRversion(), nrow(d), as.numeric(logLik(fit))))
