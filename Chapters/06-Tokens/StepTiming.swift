// Chapter 06's step timing (section 6): each configuration's training step, timed apart from its run.
import Foundation
import NanoGPT
import TextData
import Training

/// Milliseconds per training step of a fresh NanoGPT for each (vocabulary size, dataset, settings): the
/// models take `steps` steps a round, in turn, for `rounds` rounds, and each keeps its fastest round (its
/// first round also pays for the first allocations; the fastest is the least disturbed by anything else
/// on the machine). The models are thrown away after: nothing the page trained is touched.
func fastestStepMilliseconds(_ configurations: [(vocabularySize: Int, data: TokenDataset, settings: Hyperparameters)],
                             rounds: Int = 5, steps: Int = 10) -> [Double] {
    let trainers = configurations.map { vocabularySize, data, settings in
        Trainer(model: NanoGPT(GPTConfig(settings, vocabularySize: vocabularySize), seed: settings.seed),
                dataset: data, hyperparameters: settings)
    }
    var fastest = [Double](repeating: .infinity, count: trainers.count)
    for _ in 0..<rounds {
        for (index, trainer) in trainers.enumerated() {
            let started = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps { trainer.trainStep() }
            let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6 / Double(steps)
            fastest[index] = min(fastest[index], milliseconds)
        }
    }
    return fastest
}
