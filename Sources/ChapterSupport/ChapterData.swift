// The data every chapter after 01 starts from, built exactly as chapter 01 builds it step by step.
import TensorCore
import TextData
import Training

extension TrainingOptions {
    /// Loads --data (or the default corpus), builds the --tokenizer, refuses sizes that cannot fit in memory,
    /// and splits the text 90/10 into tokens. Any problem ends the program with one line on stderr.
    public func loadChapterData(_ settings: Hyperparameters) -> (text: String, tokenizer: Tokenizer, dataset: TokenDataset) {
        let text = exitOnError { try Corpus.load(path: data) }
        let tokenizer = exitOnError { try makeTokenizer(for: text) }
        exitOnError { try settings.checkFitsInMemory(vocabularySize: tokenizer.vocabularySize) }
        let dataset = exitOnError { try TokenDataset(text: text, tokenizer: tokenizer, blockSize: settings.blockSize) }
        return (text, tokenizer, dataset)
    }
}
